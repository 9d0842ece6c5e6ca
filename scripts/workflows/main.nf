// main.nf — the Nextflow DSL2 mirror of the Snakefile beside it (untested: Nextflow is
// not packaged in Debian). One process per shard (seqlift score --shard K/N), one merge;
// with --motifs, each shard also writes its report and report state (K.seqlift-report-0)
// and the merge draws the union's report (merged.html, merged.json, merged.seqlets.bed).
//
//   nextflow run scripts/workflows/main.nf --shards 8 --outdir results
//
// Defaults score the shipped demo; relative paths are taken from this file's directory.
nextflow.enable.dsl = 2

def here(p) { p.startsWith('/') ? p : "${projectDir}/${p}" }

params.seqlift = here('../../build/seqlift')
params.model   = here('../../test_data/demo/model.json')
params.genome  = here('../../test_data/demo/genome.fa.gz')
params.regions = here('../../test_data/demo/test.bed')
params.shards  = 4
params.threads = 1
params.args    = '--refs dinuc:4 --target gata'
params.motifs  = here('../../test_data/demo/motifs.meme')   // '' for no report
params.outdir  = 'results'

process SHARD {
    cpus params.threads
    input:
    val k
    output:
    path "${k}.*"
    script:
    """
    ${params.seqlift} score -m ${params.model} -f ${params.genome} -b ${params.regions} ${params.args} \\
        --threads ${task.cpus} --shard ${k}/${params.shards} --npz ${k} --tsv ${k}.tsv \\
        --bedgraph ${k}.bedGraph --bigwig ${k}.bw \
        ${params.motifs ? "--motifs ${params.motifs} --report ${k}.html --report-json ${k}.json" : ''}
    """
}

process MERGE {
    publishDir params.outdir, mode: 'copy'
    input:
    path shard_files
    output:
    path 'merged.*'
    script:
    """
    ${params.seqlift} merge -o merged \$(for k in \$(seq 1 ${params.shards}); do echo \$k.seqlift-run.json; done)
    """
}

workflow {
    MERGE(SHARD(Channel.of(1..params.shards)).collect())
}
